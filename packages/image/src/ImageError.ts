/**
 * Why `npm run image` could not build the image. Every step fails with this one error; the reason
 * says which step and what to fix:
 *
 * - `LockInvalid`: the Debian lock file is missing or malformed (the message names the field);
 * - `ChecksumMismatch`: a downloaded or cached package is not the file the lock file pins
 *   (wrong sha256 or size); it is refused and never cached;
 * - `DownloadFailed`: the archive could not be reached or answered with an error (a version no
 *   longer in the archive is a 404: refresh the lock with `npm run image -- --update-lock`);
 * - `ToolMissing`: a program the build runs (`dpkg-deb`, `apt-cache`) is not installed;
 * - `ExtractFailed`: a package's contents could not be read;
 * - `InvalidEntry`: two inputs claim one path, or a path is not a plain relative path;
 * - `BundleFailed`: esbuild reported an error or a warning for a process's bundle;
 * - `WriteFailed`: the archive could not be written.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * @category models
 */
export type Reason =
  | "LockInvalid"
  | "ChecksumMismatch"
  | "DownloadFailed"
  | "ToolMissing"
  | "ExtractFailed"
  | "InvalidEntry"
  | "BundleFailed"
  | "WriteFailed"

/**
 * @category errors
 */
export class ImageError extends Data.TaggedError("ImageError")<{
  readonly reason: Reason
  readonly message: string
}> {}
