/**
 * Which OS and CPU a native file is built for, from its first bytes: ELF (Linux), Mach-O
 * (macOS, thin or universal) or PE (Windows). Null for anything else (JS, JSON, text, headers).
 * Only the fields a loader checks first — enough to catch another platform's binary in a package.
 */

export type NativeOs = 'linux' | 'darwin' | 'win32';
export type NativeCpu = 'x64' | 'arm64' | 'other';

export interface NativeHeader {
  format: 'elf' | 'mach-o' | 'pe';
  os: NativeOs;
  /** One per architecture slice (a universal Mach-O has several). */
  cpus: NativeCpu[];
}

const ELF_MACHINE: Record<number, NativeCpu> = { 0x3e: 'x64', 0xb7: 'arm64' };
const MACHO_CPU: Record<number, NativeCpu> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINE: Record<number, NativeCpu> = { 0x8664: 'x64', 0xaa64: 'arm64' };

/** The header of `bytes` (the file's start; 4 KiB is plenty), or null when it is not native code. */
export function readNativeHeader(bytes: Buffer): NativeHeader | null {
  if (bytes.length < 64) return null;
  // ELF: 0x7f 'E' 'L' 'F'; EI_DATA (byte 5) says the byte order of e_machine at 0x12.
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes[5] === 2 ? bytes.readUInt16BE(0x12) : bytes.readUInt16LE(0x12);
    return { format: 'elf', os: 'linux', cpus: [ELF_MACHINE[machine] ?? 'other'] };
  }
  // Thin Mach-O, 64-bit little-endian (cf fa ed fe): cputype follows the magic.
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    return { format: 'mach-o', os: 'darwin', cpus: [MACHO_CPU[bytes.readUInt32LE(4)] ?? 'other'] };
  }
  // Universal Mach-O (big-endian cafebabe): nfat_arch entries of 20 bytes, cputype first. Java
  // class files share the magic, but their next field (a version) is far above any arch count.
  if (bytes.readUInt32BE(0) === 0xcafebabe && bytes.readUInt32BE(4) < 16) {
    const count = bytes.readUInt32BE(4);
    const cpus: NativeCpu[] = [];
    for (let i = 0; i < count && 8 + i * 20 + 4 <= bytes.length; i++) {
      cpus.push(MACHO_CPU[bytes.readUInt32BE(8 + i * 20)] ?? 'other');
    }
    return { format: 'mach-o', os: 'darwin', cpus };
  }
  // PE: 'MZ', e_lfanew at 0x3c points at 'PE\0\0', then the COFF machine field.
  if (bytes.readUInt16LE(0) === 0x5a4d) {
    const pe = bytes.readUInt32LE(0x3c);
    if (pe + 6 > bytes.length || bytes.readUInt32LE(pe) !== 0x00004550) return null;
    return { format: 'pe', os: 'win32', cpus: [PE_MACHINE[bytes.readUInt16LE(pe + 4)] ?? 'other'] };
  }
  return null;
}
