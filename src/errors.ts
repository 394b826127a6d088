/** Every failure the recommender reports is a RecommenderError with a stable code; it survives the worker boundary. */
export type RecommenderErrorCode =
  | 'INVALID_OPTION' // an option passed to createRecommender or a method is not valid
  | 'INVALID_EVENT' // track() got an event that cannot be stored
  | 'UNKNOWN_ITEM' // an item id that the bundle does not contain
  | 'BUNDLE_FETCH' // a bundle file could not be downloaded
  | 'BUNDLE_INVALID' // a bundle file is malformed, truncated or inconsistent with its manifest
  | 'CHECKSUM_MISMATCH' // a bundle file's SHA-256 differs from the manifest's
  | 'UNSUPPORTED_SCHEMA' // the manifest's schema version is not one this runtime reads
  | 'BACKEND_UNAVAILABLE' // an explicitly requested compute backend cannot start here
  | 'STORAGE' // the shopper's history could not be read or written
  | 'TIMEOUT' // the worker did not answer in time
  | 'WORKER_FAILED' // the worker crashed or could not start
  | 'DISPOSED'; // the recommender was disposed

export class RecommenderError extends Error {
  override readonly name = 'RecommenderError';
  constructor(
    readonly code: RecommenderErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** Plain data for postMessage: structured clone drops the class and its code. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, stack: this.stack };
  }

  static fromJSON(data: SerializedError): RecommenderError {
    const error = new RecommenderError(data.code, data.message);
    if (data.stack) error.stack = data.stack;
    return error;
  }
}

export interface SerializedError {
  code: RecommenderErrorCode;
  message: string;
  stack?: string | undefined;
}
