/** Why a committed stage's version could not be had: the stage that failed, and its error. */
export interface Unresolved {
  stage: string;
  error: string;
  type: string;
}

/**
 * Committed stages of a window whose content version could not be had. A retry asks for a
 * committed stage's output; when none reads the partition's inputs (deleted since), the stage is
 * run again with this worker's definition, which can fail (another definition, a lookup the plan
 * lacks, storage): the stages that read it then fail with that cause, so that the run waits for
 * a retry as for any failure, instead of ending them blocked.
 */
export class UnresolvedInputs {
  private readonly byKey = new Map<string, Unresolved>();

  constructor(private readonly after: Map<string, string[]>) {}

  /** Stage `stage` of partition i failed when run again to learn its version. */
  failed(stage: string, i: number, f: { error: string; type: string }): null {
    this.byKey.set(`${stage}/${i}`, { stage, error: f.error, type: f.type });
    return null;
  }

  /** A committed stage not resolved because one of its own inputs was not: the same cause. */
  via(stage: string, i: number): null {
    const u = this.input(stage, i);
    if (u) this.byKey.set(`${stage}/${i}`, u);
    return null;
  }

  /** The unresolved input of a stage of partition i, if one is why it cannot run. */
  input(stage: string, i: number): Unresolved | undefined {
    return (this.after.get(stage) ?? []).map((d) => this.byKey.get(`${d}/${i}`)).find((u) => u !== undefined);
  }
}

/** The failure of a stage that could not run because its input `u` was not resolved. */
export function unresolvedFailure(stage: string, who: { i: number; id?: string; name?: string }, u: Unresolved): { error: string; type: string; attempts: number } {
  const label = `stage "${stage}" partition ${who.id ?? `#${who.i}`}${who.name && who.name !== who.id ? ` (${who.name})` : ''}`;
  return {
    error: `${label}: its input, the committed output of stage "${u.stage}", could not be read: asking this worker for it (the output committed earlier that reads this partition's inputs, else stage "${u.stage}" run again) failed: ${u.error}`,
    // Never attempted: its input failed.
    type: u.type, attempts: 0,
  };
}
