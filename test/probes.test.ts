// What a real node's own ping says, read back: iputils' and busybox's wording, replies, loss and ICMP errors.
import test from 'ava';
import { readPing } from '../probes/ping.js';

const IPUTILS_OK = `PING 10.1.5.39 (10.1.5.39) 56(84) bytes of data.
64 bytes from 10.1.5.39: icmp_seq=1 ttl=63 time=0.111 ms
64 bytes from 10.1.5.39: icmp_seq=2 ttl=63 time=0.125 ms

--- 10.1.5.39 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1001ms
rtt min/avg/max/mdev = 0.111/0.118/0.125/0.007 ms
`;
const BUSYBOX_OK = `PING 10.1.5.39 (10.1.5.39): 56 data bytes
64 bytes from 10.1.5.39: seq=0 ttl=64 time=0.093 ms
64 bytes from 10.1.5.39: seq=1 ttl=64 time=0.104 ms

--- 10.1.5.39 ping statistics ---
2 packets transmitted, 2 packets received, 0% packet loss
round-trip min/avg/max = 0.093/0.098/0.104 ms
`;
const LOST = `PING 10.9.9.9 (10.9.9.9) 56(84) bytes of data.

--- 10.9.9.9 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1013ms
`;
const UNREACHABLE = `PING 10.1.9.9 (10.1.9.9) 56(84) bytes of data.
From 10.1.0.254 icmp_seq=1 Destination Host Unreachable

--- 10.1.9.9 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
`;

test('iputils and busybox replies: ok, counts, rtt and ttl', (t) => {
	for (const [output, ttl] of [
		[IPUTILS_OK, 63],
		[BUSYBOX_OK, 64],
	] as const) {
		const r = readPing(output, 0, 1000);
		t.is(r.status, 'ok');
		t.regex(r.detail, /^2\/2 replies, rtt min\/avg\/max 0\.\d+\/0\.\d+\/0\.\d+ ms$/);
		t.is((r.evidence as { ttl: number }).ttl, ttl);
	}
});

test('silence, an ICMP error naming its router, no route, no ping at all', (t) => {
	t.is(readPing(LOST, 1, 1000).status, 'filtered');
	const unreachable = readPing(UNREACHABLE, 1, 1000);
	t.is(unreachable.status, 'unreachable');
	t.is(unreachable.detail, 'destination unreachable, reported by 10.1.0.254');
	t.is(readPing('ping: connect: Network is unreachable\n', 2, 1000).status, 'no-route');
	t.is(readPing('sh: 1: ping: not found\n', 127, 1000).status, 'error');
});
