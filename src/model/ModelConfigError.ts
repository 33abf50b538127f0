/**
 * A model configuration that cannot work: a variable that is missing, or whose value
 * does not parse. Every `layerConfig` of the model modules fails with this instead of
 * Effect's raw `ConfigError`, naming the variable and saying what to set.
 *
 * @since 0.1.0
 */
import * as ConfigError from "effect/ConfigError"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: unique symbol = Symbol.for("effect-adc/ModelConfigError")

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = typeof TypeId

/**
 * What to set, per variable (the table in docs/models.md).
 */
const hints: Record<string, string> = {
  EFFECT_ADC_MODEL_BACKEND: "Set it to gemini-vertex, gemini-api, ollama, openai-compatible or vertex-openai.",
  GOOGLE_CLOUD_PROJECT: "Set it to the Google Cloud project that calls Vertex AI (gcloud config get project).",
  GOOGLE_CLOUD_LOCATION: "Set it to `global`, a multi-region (`us`, `eu`) or a Vertex AI region such as us-central1.",
  EFFECT_ADC_MODEL_URL: "Set it to the Cloud Run service URL, e.g. https://gemma-abc-uc.a.run.app.",
  EFFECT_ADC_MODEL_TOKEN_HEADER: "Set it to Authorization or X-Serverless-Authorization.",
  EFFECT_ADC_MODEL_TIMEOUT: "Set it to a duration such as `30 seconds` or `5 minutes`.",
  EFFECT_ADC_MODEL_ROUTES:
    "Write comma-separated `pattern=backend` pairs, e.g. `gemini-*=gemini-vertex,gemma*=ollama` (first match wins; `*` matches anything).",
  EFFECT_ADC_MODEL_FALLBACK: "Set it to one of the backends named in EFFECT_ADC_MODEL_ROUTES."
}

const hintFor = (variable: string): string => {
  const known = hints[variable]
  if (known !== undefined) return known
  if (variable.endsWith("_URL")) return "Set it to an http(s) URL, e.g. https://gemma-abc-uc.a.run.app."
  return "See the configuration table in docs/models.md."
}

/**
 * @since 0.1.0
 * @category Errors
 */
export class ModelConfigError extends Schema.TaggedError<ModelConfigError>("effect-adc/ModelConfigError")(
  "ModelConfigError",
  {
    /** The environment variable (or config path) that is wrong. */
    variable: Schema.String,
    reason: Schema.Literal("Missing", "Invalid"),
    /** What was wrong with it (never the value of a secret). */
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const what = this.reason === "Missing" ? "is not set" : "is invalid"
    return `${this.variable} ${what}${this.detail === "" ? "" : ` (${this.detail})`}. ${hintFor(this.variable)}`
  }
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isModelConfigError = (u: unknown): u is ModelConfigError => Predicate.hasProperty(u, TypeId)

/**
 * A missing variable.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const missing = (variable: string, detail: string): ModelConfigError =>
  new ModelConfigError({ variable, reason: "Missing", detail })

/**
 * The first failure of a `ConfigError` (Effect's, from `Config`) as a ModelConfigError
 * naming its variable.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromConfigError = (error: ConfigError.ConfigError): ModelConfigError => {
  const first = (e: ConfigError.ConfigError): ConfigError.ConfigError =>
    e._op === "And" || e._op === "Or" ? first(e.left) : e
  const leaf = first(error)
  const variable = leaf._op === "And" || leaf._op === "Or" ? "" : leaf.path.join("_")
  const detail = leaf._op === "And" || leaf._op === "Or" ? "" : leaf.message
  return new ModelConfigError({
    variable,
    reason: ConfigError.isMissingDataOnly(error) ? "Missing" : "Invalid",
    // Effect's messages repeat the path; keep what it says about the value
    detail: detail.replace(/^Expected \S+ to exist in the provided map$/, "").replace(
      /^\(Missing data at [^)]*\)\s*/,
      ""
    ),
    cause: error
  })
}
