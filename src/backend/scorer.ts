/** The heavy op, E·u over the whole catalog, with E and the user tower kept on one backend. */
import * as tf from '@tensorflow/tfjs';
import type { Backend } from './backends.ts';

export class EmbeddingScorer {
  private constructor(
    readonly backend: Backend,
    private readonly dim: number,
    private readonly items: tf.Tensor2D,
    private readonly tower: tf.LayersModel,
  ) {}

  /**
   * Uploads the item embeddings (N×dim, row-major) and loads a tower of its own on the current backend, which must be
   * `backend`: a tower shared between backends would have its weights moved by a synchronous read-back.
   */
  static async create(backend: Backend, embeddings: Float32Array, dim: number, towerArtifacts: tf.io.ModelArtifacts): Promise<EmbeddingScorer> {
    const tower = await tf.loadLayersModel(tf.io.fromMemory(towerArtifacts));
    return new EmbeddingScorer(backend, dim, tf.tensor2d(embeddings, [embeddings.length / dim, dim]), tower);
  }

  /** F_D for every item: the user tower applied to the pooled history, dotted with every item embedding. */
  scoreHistory(pooled: Float32Array): Promise<Float32Array> {
    return this.read(() => {
      const user = this.tower.predict(tf.tensor2d(pooled, [1, this.dim])) as tf.Tensor2D;
      return tf.matMul(this.items, user, false, true);
    });
  }

  /** E·v for a raw vector (no tower): the embedding-similarity fallback. */
  scoreVector(v: Float32Array): Promise<Float32Array> {
    return this.read(() => tf.matMul(this.items, tf.tensor2d(v, [1, this.dim]), false, true));
  }

  dispose(): void {
    this.items.dispose();
    this.tower.dispose();
  }

  /** Reads the scores back and selects in JS: tfjs's GPU top-k costs more than the whole product (DESIGN.md). */
  private async read(compute: () => tf.Tensor): Promise<Float32Array> {
    const scores = tf.tidy(() => compute().reshape([-1]));
    try {
      return (await scores.data()) as Float32Array;
    } finally {
      scores.dispose();
    }
  }
}
