/**
 * The root `--help` text, rendered when the CLI bundle is built: scripts/build-cli.mjs
 * runs the command tree's own `--help` once plain and once coloured and defines
 * `EFFECT_ADC_HELP` with both, so the bundled `effect-adc --help` prints it without
 * loading the command tree (about 0.3 s of CPU otherwise). Unbundled (the sources,
 * `dist/`) it is undefined and `--help` goes through @effect/cli. A test compares the
 * bundle's `--help` with the sources' (test/cli/bundle.test.ts).
 *
 * @internal
 */
declare const EFFECT_ADC_HELP: { readonly plain: string; readonly colour: string } | undefined

/** The pre-rendered root help, in a bundle; `undefined` elsewhere. @internal */
export const prerendered: { readonly plain: string; readonly colour: string } | undefined =
  typeof EFFECT_ADC_HELP === "undefined" ? undefined : EFFECT_ADC_HELP
