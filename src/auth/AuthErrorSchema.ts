/**
 * The auth errors as Schemas, for code that encodes them (an RPC boundary, a queue) or
 * puts them in a `Schema.Union`. The errors themselves are `Data.TaggedError` classes,
 * kept off `effect/Schema` because they are on the start-up path (see AuthError.ts);
 * this module is not, so importing it costs what `effect/Schema` costs. Each Schema
 * decodes the encoded form the errors had as `Schema.TaggedError` classes (`_tag` plus
 * the fields; a `cause` is a `Schema.Defect`) into an instance of the error class, and
 * encodes an instance back to it.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import * as Errors from "./AuthError.js"

/**
 * The endpoint a token request went to.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TokenEndpoint: Schema.Literal<typeof Errors.TokenEndpoint> = Schema.Literal(...Errors.TokenEndpoint)

/**
 * A Schema between `{ _tag, ...fields }` and instances of `self`.
 */
const fromFields = <Tag extends string, Fields extends Schema.Struct.Fields, Self extends Schema.Struct.Type<Fields>>(
  self: new(props: Schema.TaggedStruct<Tag, Fields>["Type"]) => Self,
  tag: Tag,
  fields: Fields
): Schema.transform<Schema.TaggedStruct<Tag, Fields>, Schema.declare<Self>> =>
  Schema.transform(
    Schema.TaggedStruct(tag, fields),
    Schema.declare((u): u is Self => u instanceof self, { identifier: tag }),
    {
      strict: false,
      decode: (props) => new self(props),
      encode: (error) => error
    }
  )

/**
 * @since 0.2.0
 * @category Schemas
 */
export const CredentialsNotFound = fromFields(Errors.CredentialsNotFound, "CredentialsNotFound", {
  reason: Schema.Literal("NotFound", "Timeout"),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const CredentialsInvalid = fromFields(Errors.CredentialsInvalid, "CredentialsInvalid", {
  source: Schema.String,
  detail: Schema.String,
  field: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const IdTokenUnsupported = fromFields(Errors.IdTokenUnsupported, "IdTokenUnsupported", {
  credentialType: Schema.String,
  detail: Schema.String
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const InvalidAudience = fromFields(Errors.InvalidAudience, "InvalidAudience", {
  audience: Schema.String,
  detail: Schema.String
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const TokenEndpointUnreachable = fromFields(Errors.TokenEndpointUnreachable, "TokenEndpointUnreachable", {
  endpoint: TokenEndpoint,
  reason: Schema.Literal("Unreachable", "Timeout", "RateLimited"),
  detail: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number)
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const TokenRequestRejected = fromFields(Errors.TokenRequestRejected, "TokenRequestRejected", {
  endpoint: TokenEndpoint,
  status: Schema.optional(Schema.Number),
  code: Schema.String,
  description: Schema.String
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const TokenResponseInvalid = fromFields(Errors.TokenResponseInvalid, "TokenResponseInvalid", {
  endpoint: TokenEndpoint,
  detail: Schema.String
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const TokenTooShortLived = fromFields(Errors.TokenTooShortLived, "TokenTooShortLived", {
  kind: Schema.Literal("access", "id"),
  endpoint: Schema.optional(TokenEndpoint),
  remainingMillis: Schema.Number,
  minimumMillis: Schema.Number,
  issuedLifetimeMillis: Schema.optional(Schema.Number)
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const AuthServiceClosed = fromFields(Errors.AuthServiceClosed, "AuthServiceClosed", {
  operation: Schema.String
})

/**
 * @since 0.2.0
 * @category Schemas
 */
export const AuthConfigInvalid = fromFields(Errors.AuthConfigInvalid, "AuthConfigInvalid", {
  detail: Schema.String
})

/**
 * Schema of every auth error (the type is `AuthError.AuthError`).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const AuthError = Schema.Union(
  AuthConfigInvalid,
  CredentialsNotFound,
  CredentialsInvalid,
  IdTokenUnsupported,
  InvalidAudience,
  TokenEndpointUnreachable,
  TokenRequestRejected,
  TokenResponseInvalid,
  TokenTooShortLived,
  AuthServiceClosed
)
