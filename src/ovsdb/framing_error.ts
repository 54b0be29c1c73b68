/**
 * The error of the JSON stream layer.
 * @module
 */

/** Thrown when the byte stream cannot be framed or parsed; the connection must be dropped. */
export class FramingError extends Error {
  override name = "FramingError";
}
