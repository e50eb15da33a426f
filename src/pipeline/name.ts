/** What a pipeline's or stage's name may be (pure: the workflow checks its input with it). */
export const NAME_RE = /^[a-z][a-z0-9_-]{0,62}$/;
