/**
 * A stage's partitions that never ran: blocked by an upstream failure, or left unfinished by a
 * cancel. Said wherever a stage's counts are printed, when there are some, so that the counts
 * add up to the run's partitions.
 */
export function notRunCounts(s: { blocked?: number; cancelled?: number }): string[] {
  return [...(s.blocked ? [`${s.blocked} blocked`] : []), ...(s.cancelled ? [`${s.cancelled} cancelled`] : [])];
}
