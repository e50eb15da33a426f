/** partflow's search attributes; the embedded stack registers them, a real cluster needs them created once (README). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Int'> = {
  PartflowPipeline: 'Keyword',
  PartflowDataset: 'Keyword',
  PartflowStatus: 'Keyword',
  PartflowFailedPartitions: 'Int',
};
