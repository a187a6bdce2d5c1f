package gpufleet.host.workload;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The kubelet's gRPC probe: grpc.health.v1.Health/Check on the pod's own address, in plain text,
 * with the probe's {@code service}; SERVING passes, anything else fails, in the kubelet's words.
 * The two messages (a string field, an enum field) are coded here by hand, so the agent carries
 * no protobuf runtime; a response is read up to {@link #MAX_RESPONSE} bytes.
 */
final class GrpcProbe {
    static final int MAX_RESPONSE = 64 * 1024;
    private static final String[] STATUSES = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readNBytes(MAX_RESPONSE);
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("cannot read the response: " + e.getMessage()).asRuntimeException();
            }
        }
    };
    private static final MethodDescriptor<byte[], byte[]> CHECK = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("grpc.health.v1.Health/Check")
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

    private GrpcProbe() {}

    static Prober.Result check(String address, int port, String service, Duration timeout) {
        // An address, never a name to resolve, and no proxy: the probe reaches the pod itself.
        ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(address, port)).usePlaintext()
                .proxyDetector(target -> null).userAgent("kube-probe/1.29").build();
        try {
            byte[] response = ClientCalls.blockingUnaryCall(channel, CHECK,
                    CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS), request(service));
            int status = status(response);
            if (status == 1) {
                return new Prober.Result(Prober.Kind.SUCCESS, "service healthy");
            }
            String name = status >= 0 && status < STATUSES.length ? STATUSES[status] : Integer.toString(status);
            return new Prober.Result(Prober.Kind.FAILURE, "service unhealthy (responded with \"" + name + "\")");
        } catch (StatusRuntimeException e) {
            return new Prober.Result(Prober.Kind.FAILURE, failure(e.getStatus(), timeout));
        } finally {
            channel.shutdownNow();
        }
    }

    private static String failure(Status s, Duration timeout) {
        String desc = (s.getDescription() == null ? "" : s.getDescription())
                + (s.getCause() == null || s.getCause().getMessage() == null ? "" : ": " + s.getCause().getMessage());
        return switch (s.getCode()) {
            case UNIMPLEMENTED -> "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + desc;
            case DEADLINE_EXCEEDED -> "timeout: health rpc did not complete within " + timeout.toSeconds() + "s";
            default -> "error: health rpc probe failed: rpc error: code = " + goName(s.getCode()) + " desc = " + desc;
        };
    }

    /** A status code as gRPC-Go writes it (NOT_FOUND is NotFound), as the kubelet's message shows it. */
    private static String goName(Status.Code code) {
        if (code == Status.Code.OK) {
            return "OK";
        }
        StringBuilder out = new StringBuilder();
        for (String part : code.name().split("_")) {
            out.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
        }
        return out.toString();
    }

    /** HealthCheckRequest: field 1, the service name (absent when empty, as protobuf writes it). */
    static byte[] request(String service) {
        if (service == null || service.isEmpty()) {
            return new byte[0];
        }
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x0a);
        varint(out, name.length);
        out.write(name, 0, name.length);
        return out.toByteArray();
    }

    /** HealthCheckResponse's status (field 1, varint); UNKNOWN (0) when absent; other fields skipped. */
    static int status(byte[] message) {
        int[] at = {0};
        int status = 0;
        while (at[0] < message.length) {
            long tag = varint(message, at);
            int wire = (int) (tag & 7);
            if (tag >>> 3 == 1 && wire == 0) {
                status = (int) varint(message, at);
                continue;
            }
            switch (wire) {
                case 0 -> varint(message, at);
                case 1 -> at[0] += 8;
                case 2 -> {
                    long length = varint(message, at);
                    if (length < 0 || length > message.length - at[0]) {
                        throw Status.INTERNAL.withDescription("malformed health response").asRuntimeException();
                    }
                    at[0] += (int) length;
                }
                case 5 -> at[0] += 4;
                default -> throw Status.INTERNAL.withDescription("malformed health response").asRuntimeException();
            }
        }
        return status;
    }

    private static void varint(ByteArrayOutputStream out, int value) {
        while ((value & ~0x7f) != 0) {
            out.write((value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }

    private static long varint(byte[] in, int[] at) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at[0] >= in.length) {
                throw Status.INTERNAL.withDescription("malformed health response").asRuntimeException();
            }
            byte b = in[at[0]++];
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw Status.INTERNAL.withDescription("malformed health response").asRuntimeException();
    }
}
