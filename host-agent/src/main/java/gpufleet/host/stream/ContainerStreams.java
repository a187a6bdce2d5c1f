package gpufleet.host.stream;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import gpufleet.host.workload.HostContainers;
import gpufleet.host.workload.Labels;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Serves logs, exec, attach and port-forward for the containers of one workload on this host. */
public final class ContainerStreams implements StreamServer.StreamHandler {
    private final HostContainers containers;
    private final DockerSocket docker;
    private final PodStatsReader stats;

    public ContainerStreams(HostContainers containers, String dockerHost, PodStatsReader.GpuLookup gpus) {
        this.containers = containers;
        this.docker = new DockerSocket(dockerHost);
        this.stats = new PodStatsReader(containers, docker, gpus);
    }

    @Override
    public void handle(StreamRequest req, Conversation c) throws IOException {
        try {
            switch (String.valueOf(req.op())) {
                case StreamRequest.LOGS -> logs(req, c);
                case StreamRequest.EXEC, StreamRequest.ATTACH -> interactive(req, c);
                case StreamRequest.PORT_FORWARD -> portForward(req, c);
                case StreamRequest.STATS -> stats.serve(req.workloads(), c);
                default -> c.refuse(400, "unknown stream operation '" + req.op() + "'");
            }
        } catch (Refusal r) {
            c.refuse(r.status, r.getMessage());
        } catch (RuntimeFailure f) {
            c.refuse(503, "container runtime: " + f.getMessage());
        }
    }

    private void logs(StreamRequest req, Conversation c) throws IOException, RuntimeFailure {
        Observed o = req.previous() ? previous(req) : current(req);
        boolean tty = docker.json("GET", "/containers/" + o.id() + "/json", null).path("Config").path("Tty").asBoolean();
        StringBuilder q = new StringBuilder("/containers/" + o.id() + "/logs?stdout=1&stderr=1");
        q.append("&follow=").append(req.follow() && !req.previous() ? 1 : 0);
        q.append("&timestamps=").append(req.timestamps() ? 1 : 0);
        if (req.tailLines() != null) {
            q.append("&tail=").append(req.tailLines());
        }
        if (req.sinceSeconds() != null) {
            q.append("&since=").append(Instant.now().getEpochSecond() - req.sinceSeconds());
        } else if (req.sinceTime() != null) {
            q.append("&since=").append(Instant.parse(req.sinceTime()).getEpochSecond());
        }
        try (DockerSocket.Response r = docker.request("GET", q.toString(), null, false)) {
            if (r.status >= 300) {
                throw new Refusal(r.status == 404 ? 404 : 500, r.message());
            }
            c.ok();
            long limit = req.limitBytes() == null ? Long.MAX_VALUE : req.limitBytes();
            Demux.Sink sink = new Demux.Sink() {
                long sent;

                @Override
                public boolean accept(int stream, byte[] b, int off, int len) throws IOException {
                    int n = (int) Math.min(len, limit - sent);
                    c.queue(Frames.STDOUT, b, off, n);
                    sent += n;
                    return sent < limit;
                }

                @Override
                public void drained() throws IOException {
                    c.flush();
                }
            };
            Demux.pump(r.body, tty, sink);
            c.end(Map.of());
        }
    }

    /** exec and attach: a hijacked Docker connection carrying stdin up and stdout/stderr down. */
    private void interactive(StreamRequest req, Conversation c) throws IOException, RuntimeFailure {
        Observed o = current(req);
        if (!"running".equals(o.state())) {
            throw new Refusal(409, "container " + req.container() + " in pod " + req.pod() + " is not running (" + o.state() + ")");
        }
        boolean exec = StreamRequest.EXEC.equals(req.op());
        String execId = null;
        boolean tty;
        DockerSocket.Response r;
        if (exec) {
            if (req.command() == null || req.command().isEmpty()) {
                throw new Refusal(400, "exec needs a command");
            }
            Map<String, Object> create = new LinkedHashMap<>();
            create.put("AttachStdin", req.stdin());
            create.put("AttachStdout", req.stdout());
            create.put("AttachStderr", req.stderr());
            create.put("Tty", req.tty());
            create.put("Cmd", req.command());
            execId = docker.json("POST", "/containers/" + o.id() + "/exec", create).path("Id").asText();
            tty = req.tty();
            r = docker.request("POST", "/exec/" + execId + "/start", Map.of("Detach", false, "Tty", tty), true);
        } else {
            tty = docker.json("GET", "/containers/" + o.id() + "/json", null).path("Config").path("Tty").asBoolean();
            r = docker.request("POST", "/containers/" + o.id() + "/attach?stream=1&stdin=" + (req.stdin() ? 1 : 0)
                    + "&stdout=" + (req.stdout() ? 1 : 0) + "&stderr=" + (req.stderr() ? 1 : 0), null, true);
        }
        try (r) {
            if (r.status != 101 && r.status != 200) {
                throw new Refusal(r.status == 404 ? 404 : 500, r.message());
            }
            c.ok();
            String resizePath = exec ? "/exec/" + execId + "/resize" : "/containers/" + o.id() + "/resize";
            c.threads.execute(() -> upstream(c, r, resizePath));
            Demux.pump(r.body, tty, new Demux.Sink() {
                @Override
                public boolean accept(int stream, byte[] b, int off, int len) throws IOException {
                    c.queue(stream == 2 ? Frames.STDERR : Frames.STDOUT, b, off, len);
                    return true;
                }

                @Override
                public void drained() throws IOException {
                    c.flush();
                }
            });
            c.end(Map.of("exitCode", exec ? exitCode(execId) : containerExit(o.id())));
        }
    }

    /** Client to container: stdin, its end, and terminal resizes, until the client stops sending. */
    private void upstream(Conversation c, DockerSocket.Response r, String resizePath) {
        try {
            for (Frames.Frame f = c.next(); f != null; f = c.next()) {
                switch (f.channel()) {
                    case Frames.STDIN -> r.out.write(f.data());
                    case Frames.STDIN_EOF -> r.closeWrite();
                    case Frames.RESIZE -> {
                        JsonNode size = gpufleet.common.Json.mapper().readTree(f.data());
                        docker.json("POST", resizePath + "?h=" + size.path("height").asInt() + "&w=" + size.path("width").asInt(), null);
                    }
                    default -> { }
                }
            }
        } catch (IOException e) {
            // The client went away or the container's stream ended; the other direction notices too.
        }
        r.close();
    }

    private int exitCode(String execId) throws IOException {
        return docker.json("GET", "/exec/" + execId + "/json", null).path("ExitCode").asInt();
    }

    private int containerExit(String id) throws IOException {
        JsonNode state = docker.json("GET", "/containers/" + id + "/json", null).path("State");
        return state.path("Running").asBoolean() ? 0 : state.path("ExitCode").asInt();
    }

    private void portForward(StreamRequest req, Conversation c) throws IOException, RuntimeFailure {
        int port = req.port() == null ? 0 : req.port();
        if (port < 1 || port > 65535) {
            throw new Refusal(400, "port " + port + " is outside 1..65535");
        }
        Observed sandbox = containers(req).stream().filter(o -> Labels.PAUSE.equals(o.label(Labels.CONTAINER)))
                .filter(o -> "running".equals(o.state()) && !o.addresses().isEmpty()).findFirst()
                .orElseThrow(() -> new Refusal(409, "pod " + req.pod() + " has no running sandbox to forward port " + port + " into"));
        String address = sandbox.addresses().values().iterator().next();
        Socket s = new Socket();
        try (s) {
            try {
                s.connect(new InetSocketAddress(address, port), 5000);
            } catch (IOException e) {
                throw new Refusal(502, "error forwarding port " + port + " to pod " + req.pod() + ": " + e.getMessage());
            }
            c.ok();
            c.threads.execute(() -> {
                try {
                    for (Frames.Frame f = c.next(); f != null; f = c.next()) {
                        if (f.channel() == Frames.STDIN) {
                            s.getOutputStream().write(f.data());
                        } else if (f.channel() == Frames.STDIN_EOF) {
                            s.shutdownOutput();
                        }
                    }
                } catch (IOException e) {
                    // Either side closed; the reading side ends the conversation.
                }
                close(s);
            });
            InputStream in = s.getInputStream();
            byte[] buf = new byte[Frames.MAX_PAYLOAD];
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                c.send(Frames.STDOUT, buf, 0, n);
            }
            c.end(Map.of());
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Already closed.
        }
    }

    /** The workload's containers on this host, its sandbox included. */
    private List<Observed> containers(StreamRequest req) throws RuntimeFailure {
        return containers.of(String.valueOf(req.workload()));
    }

    private List<Observed> attempts(StreamRequest req) throws RuntimeFailure {
        return containers(req).stream().filter(o -> String.valueOf(req.container()).equals(o.label(Labels.CONTAINER)))
                .sorted(Comparator.comparingInt(ContainerStreams::attempt).reversed()).toList();
    }

    private Observed current(StreamRequest req) throws RuntimeFailure {
        List<Observed> a = attempts(req);
        if (a.isEmpty()) {
            throw new Refusal(404, "container \"" + req.container() + "\" in pod \"" + req.pod() + "\" is not available");
        }
        return a.get(0);
    }

    /** The run before the newest one, as the kubelet's --previous: the agent keeps it until the next run ends. */
    private Observed previous(StreamRequest req) throws RuntimeFailure {
        List<Observed> a = attempts(req);
        if (a.size() < 2) {
            throw new Refusal(400, "previous terminated container \"" + req.container() + "\" in pod \"" + req.pod() + "\" not found");
        }
        return a.get(1);
    }

    private static int attempt(Observed o) {
        try {
            return Integer.parseInt(o.label(Labels.ATTEMPT));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A request this host cannot serve: the status and message go back to the control-api. */
    static final class Refusal extends RuntimeException {
        final int status;

        Refusal(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
