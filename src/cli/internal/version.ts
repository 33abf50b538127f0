/**
 * The package version, in a module that imports nothing: `effect-adc --version`
 * prints it without loading the command tree. A test checks it against package.json.
 *
 * @internal
 */
export const version = "0.1.0"
