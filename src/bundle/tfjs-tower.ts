/** A user tower that the plain-JS interpreter does not cover, run by TensorFlow.js (imported only then). */
import * as tf from '@tensorflow/tfjs';
import type { UserTower } from './tower.ts';

/** Loads the model on tfjs's cpu backend; throws tfjs's own error when the artifacts are not a loadable model. */
export async function tfjsTower(artifacts: tf.io.ModelArtifacts, dim: number): Promise<UserTower | string> {
  if (tf.getBackend() !== 'cpu' && !(await tf.setBackend('cpu'))) return "tfjs's cpu backend did not start";
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const shapes = JSON.stringify([model.inputs[0]?.shape, model.outputs[0]?.shape]);
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || shapes !== JSON.stringify([[null, dim], [null, dim]])) {
    model.dispose();
    return `a user tower from [null, ${dim}] to [null, ${dim}], found input and output shapes ${shapes}`;
  }
  return {
    kind: 'tfjs',
    async predict(pooled) {
      // The webgl kernel may have made its backend current: the tower's weights stay on cpu (moving them between
      // backends reads them back synchronously).
      if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
      const user = tf.tidy(() => model.predict(tf.tensor2d(pooled, [1, dim])) as tf.Tensor);
      try {
        return Float32Array.from(await user.data());
      } finally {
        user.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
