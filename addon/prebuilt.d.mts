export function libcFamily(): '' | 'gnu' | 'musl';
export function prebuiltPackage(platform?: string, arch?: string, libc?: string): string;
export const PREBUILT_FILE: string;
export function findPrebuilt(req: { resolve(id: string): string }): { pkg: string; file: string } | undefined;
