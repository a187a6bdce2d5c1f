package gpufleet.host.agent;

import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.StreamEndpoint;
import gpufleet.common.http.JsonClient;
import gpufleet.common.stream.Tickets;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.stream.ContainerStreams;
import gpufleet.host.stream.PodStatsReader;
import gpufleet.host.stream.StreamIdentity;
import gpufleet.host.stream.StreamServer;
import gpufleet.host.workload.HostContainers;
import gpufleet.host.workload.WorkloadLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's streams loop: serves kubectl's streams for this host's pods over TLS and tells the
 * control-api where, with a ticket key made for each server and the certificate it pins (kept in
 * the state directory, see {@link StreamIdentity}); told again whenever the host registers anew. A server whose accept thread has died is replaced, and one that cannot listen (the port
 * is taken) is tried again with back-off, so the loop itself never ends while the agent runs.
 */
final class StreamService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StreamService.class);

    private final AgentConfig config;
    private final ControlApiClient api;
    private final WorkloadLoop.HostSupplier host;
    private final ContainerStreams handler;
    private volatile StreamServer server;
    private StreamIdentity identity; // read or made on the first listen

    StreamService(AgentConfig config, ControlApiClient api, WorkloadLoop.HostSupplier host, HostContainers containers,
                  WorkloadLoop workloads, Supplier<GpuSnapshot> snapshot) {
        this.config = config;
        this.api = api;
        this.host = host;
        this.handler = new ContainerStreams(containers, config.dockerHost(), new PodStatsReader.GpuLookup() {
            @Override
            public List<String> gpusOf(String workload) {
                return workloads.gpusOf(workload);
            }

            @Override
            public Map<String, Gpu> telemetry() {
                GpuSnapshot s = snapshot.get();
                Map<String, Gpu> byUuid = new HashMap<>();
                if (s != null) {
                    s.gpus().forEach(g -> byUuid.put(g.uuid(), g));
                }
                return byUuid;
            }
        });
    }

    /** The stream server now serving, or null; for tests. */
    StreamServer server() {
        return server;
    }

    /** Runs while {@code round} says so; {@code round} is called at the top of every round. */
    void loop(BooleanSupplier round) {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        StreamEndpoint endpoint = null;
        RegisteredHost told = null;
        while (round.getAsBoolean()) {
            Duration wait = Duration.ofSeconds(5);
            try {
                if (server != null && !server.accepting()) {
                    log.error("the stream server stopped accepting connections; starting a new one");
                    close();
                }
                if (server == null) {
                    endpoint = listen();
                    told = null;
                }
                RegisteredHost h = host.get();
                if (h == null) {
                    return;
                }
                if (h != told) {
                    api.streams(h, endpoint);
                    told = h;
                    log.info("serving streams on {}", endpoint.address());
                }
                backoff.reset();
            } catch (UncheckedIOException | IllegalStateException e) { // the port, or the TLS key files
                wait = backoff.next();
                if (backoff.failures() == 1) {
                    log.error("kubectl logs/exec/attach/port-forward will not reach this host until it can listen: {}", e.getMessage());
                }
            } catch (IOException | JsonClient.Refused e) {
                wait = backoff.next();
                log.warn("cannot tell the control-api where streams are served ({}); retrying in {} ms", JsonClient.reason(e), wait.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private StreamEndpoint listen() {
        String key = Tickets.newKey();
        if (identity == null) {
            identity = StreamIdentity.loadOrCreate(config.stateDir(), config.hostName());
        }
        StreamServer s = new StreamServer(config.publishAddress(), config.streamPort(), key, identity.serverContext(), handler);
        server = s;
        return new StreamEndpoint(s.address(), key, identity.certificateBase64());
    }

    @Override
    public void close() {
        StreamServer s = server;
        server = null;
        if (s != null) {
            s.close();
        }
    }
}
