/** A flat source that cannot be read as its format says; the message names the object. */
export class FlatFileError extends Error {
  constructor(readonly object: string, reason: string) {
    super(`${object}: ${reason}`);
    this.name = 'FlatFileError';
  }
}
