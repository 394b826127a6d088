/**
 * The deep model's user tower: pooled history embedding → MLP → user vector; F_D(i) = <user vector, item embedding i>.
 * The item embeddings are trained with it but shipped separately (int8), so the tfjs model is only the MLP.
 */
import * as tf from '@tensorflow/tfjs';

export function createUserTower(dim: number, hidden: number, seed = 7): tf.Sequential {
  const tower = tf.sequential({ name: 'user_tower' });
  tower.add(tf.layers.dense({ inputShape: [dim], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  tower.add(tf.layers.dense({ units: dim, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return tower;
}
