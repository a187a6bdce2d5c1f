package gpufleet.host.workload;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;

/**
 * A real gRPC health server (grpc-java's own health service) for the probe's tests, run inside
 * a pod's network namespace: {@code PORT [SERVICE STATUS]...}, the service "" being the server's
 * overall health.
 */
public final class GrpcHealthServer {
    private GrpcHealthServer() {}

    public static void main(String[] args) throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        for (int i = 1; i + 1 < args.length; i += 2) {
            health.setStatus(args[i].equals("-") ? "" : args[i], ServingStatus.valueOf(args[i + 1]));
        }
        Server server = NettyServerBuilder.forPort(Integer.parseInt(args[0])).addService(health.getHealthService()).build().start();
        System.out.println("serving on " + args[0]);
        server.awaitTermination();
    }
}
