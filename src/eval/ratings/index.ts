/** Explicit rating prediction on MovieLens-100K (Node only): data, predictors, fusion and the 5-fold benchmark. */
export * from './data.ts';
export * from './baseline.ts';
export * from './user-knn.ts';
export * from './svdpp.ts';
export * from './autorec.ts';
export * from './fusion.ts';
export * from './benchmark.ts';
