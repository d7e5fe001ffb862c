// The C library's calls labcheck makes itself, through koffi: setns(2), prctl(2), the ARP ioctl. Loaded once.
import koffi from 'koffi';

let lib: ReturnType<typeof koffi.load> | undefined;

/** The libc function of `signature` ("int setns(int fd, int nstype)"), callable from JavaScript. */
export function libc<F>(signature: string): F {
	lib ??= koffi.load('libc.so.6');
	return lib.func(signature) as F;
}

/** errno as the last call left it. */
export const errno = (): number => koffi.errno();
