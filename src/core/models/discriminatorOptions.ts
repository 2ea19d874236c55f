import type { ModelConfig } from '../config/types';

/** What model.dNorm and model.dMinibatchStd 'auto' mean for a model type. */
export function resolveDiscriminator(
  type: ModelConfig['type'],
  cfg: Pick<ModelConfig, 'dNorm' | 'dMinibatchStd'>,
): { dNorm: 'batch' | 'spectral'; minibatchStd: boolean } {
  // 'auto' keeps dcgan exactly the DCGAN-32 reference and gives the conditional models what made
  // them diverse.
  const conditional = type !== 'dcgan';
  return {
    dNorm: cfg.dNorm === 'auto' ? (conditional ? 'spectral' : 'batch') : cfg.dNorm,
    minibatchStd: cfg.dMinibatchStd === 'auto' ? conditional : cfg.dMinibatchStd,
  };
}
