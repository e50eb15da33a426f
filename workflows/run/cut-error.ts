/** How much of a failure's error the run manifest keeps (window results, then the manifest). */
export const KEPT_ERROR_CHARS = 2000;
/** How much the workflow keeps for queries and its summary (bounded state across continue-as-new). */
export const SHOWN_ERROR_CHARS = 500;

/**
 * An error cut to at most `max` characters, saying that it was cut and from how long: the cut
 * part may be the one that says what to fix (a schema, a path), so a reader must know to look
 * further. Shown ones name where the rest is.
 */
export function cutError(error: string, max: number): string {
  if (error.length <= max) return error;
  const rest = max >= KEPT_ERROR_CHARS ? '' : error.length > KEPT_ERROR_CHARS ? `; the run manifest keeps ${KEPT_ERROR_CHARS}` : '; the run manifest keeps it whole';
  const note = ` … [cut from ${error.length} characters${rest}]`;
  return error.slice(0, Math.max(0, max - note.length)) + note;
}
