// The prebuilt addons: one npm package per platform (alexnet-ts-<os>-<cpu>[-<libc>]) holding alexnet_native.node and
// the shared libraries it needs, as an optional dependency of alexnet-ts that npm installs only where os/cpu/libc
// match. Used by the loader (src/backend/native/addon.ts), the install script and scripts/pack.mjs.

let libc;
/** 'gnu' or 'musl' on Linux, '' elsewhere (the process report takes a few ms: asked once). */
export function libcFamily() {
  if (libc !== undefined) return libc;
  if (process.platform !== 'linux') return (libc = '');
  const header = /** @type {{ glibcVersionRuntime?: string }} */ (process.report?.getReport().header ?? {});
  return (libc = header.glibcVersionRuntime ? 'gnu' : 'musl');
}

/** The platform package's name for this process, e.g. alexnet-ts-linux-x64-gnu. */
export function prebuiltPackage(platform = process.platform, arch = process.arch, libc = libcFamily()) {
  return `alexnet-ts-${platform}-${arch}${libc ? `-${libc}` : ''}`;
}

/** The addon file inside a platform package. */
export const PREBUILT_FILE = 'alexnet_native.node';

/**
 * Where this platform's prebuilt addon is installed, resolved the way `require` from alexnet-ts would see it,
 * or undefined when the package is not installed.
 * @param {{ resolve(id: string): string }} req a require function created inside alexnet-ts
 */
export function findPrebuilt(req) {
  const pkg = prebuiltPackage();
  try {
    return { pkg, file: req.resolve(`${pkg}/${PREBUILT_FILE}`) };
  } catch {
    return undefined;
  }
}
