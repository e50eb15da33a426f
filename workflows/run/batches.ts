import { isSmall } from '../../src/pipeline/small-partitions';
import type { PlanSummary } from '../../src/pipeline/plan';

/**
 * A window's items cut into units of work: runs of consecutive small partitions, at most `max`
 * each, share one activity per stage; any other partition is a unit of its own.
 */
export function unitsOf<T extends { i: number }>(plan: PlanSummary, items: T[], max: number): T[][] {
  const units: T[][] = [];
  let run: T[] = [];
  for (const it of items) {
    if (max > 1 && isSmall(plan.small, it.i)) {
      run.push(it);
      if (run.length >= max) { units.push(run); run = []; }
    } else {
      if (run.length) units.push(run);
      run = [];
      units.push([it]);
    }
  }
  if (run.length) units.push(run);
  return units;
}
