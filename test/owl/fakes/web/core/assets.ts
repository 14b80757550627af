/** Fake of @web/core/assets: records the bundles asked for; a test may add what a bundle defines. */
export const loadedBundles: string[] = [];
export const bundleLoaders: Record<string, () => Promise<unknown>> = {};

export async function loadBundle(name: string): Promise<void> {
  loadedBundles.push(name);
  await bundleLoaders[name]?.();
}
