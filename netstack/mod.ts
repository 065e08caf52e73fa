// netstack's public surface: the stack, sockets and link endpoints.
export { Stack, TX_L4_OFFSET } from "./stack.ts";
export type { StackOptions } from "./stack.ts";
export * from "./socket.ts";
export * from "./addr.ts";
export * as errno from "./errno.ts";
export type { LinkEndpoint } from "./link/endpoint.ts";
export { LoopbackEndpoint } from "./link/loopback.ts";
export { createPipe, PipeEndpoint, seededRandom } from "./link/pipe.ts";
export type { Impairment } from "./link/pipe.ts";
export { CaptureEndpoint, PcapWriter } from "./link/pcap.ts";
export type { TcpConfig } from "./tcp/config.ts";
export { State as TcpState, TcpSocket } from "./tcp/endpoint.ts";
export { UdpSocket } from "./udp.ts";
export { PingSocket } from "./ping.ts";
export type { NIC } from "./nic.ts";
