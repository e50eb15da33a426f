/**
 * In a cancelled run whose windows ran before 'cancel-downstream', a stage was marked blocked when
 * its upstream stage did not finish, failed or cancelled alike. `blocked` means "held back by a failure": of one partition's blocked stages,
 * these are the ones no failure upstream explains, which the cancel left unfinished. Pure: the
 * workflow's summary and the run manifest's lists use it alike.
 */
export function blockedByCancel(stages: readonly { name: string; after: readonly string[] }[], status: (stage: string) => string | undefined): Set<string> {
  const out = new Set<string>();
  // Stages come in DAG order, so a stage's upstreams are settled before it.
  for (const st of stages) {
    if (status(st.name) !== 'blocked') continue;
    const byFailure = st.after.some((d) => status(d) === 'failed' || (status(d) === 'blocked' && !out.has(d)));
    if (!byFailure) out.add(st.name);
  }
  return out;
}
