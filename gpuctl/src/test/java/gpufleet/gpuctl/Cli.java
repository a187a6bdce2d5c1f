package gpufleet.gpuctl;

import gpufleet.control.support.ApiFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** gpuctl run in-process as a shell would run it, with its own environment; output captured. */
final class Cli {
    /**
     * An AGE or HEARTBEAT cell as gpuctl writes it: seconds, or minutes (and seconds) when a test
     * class runs past two minutes on a loaded machine.
     */
    static final String AGE = "\\d+(?:s|m(?:\\d+s)?)";

    private final Map<String, String> env;

    private Cli(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    /** Pointed at the fixture's control-api with the operator token; HOME is {@code home}, so no real config is read. */
    static Cli against(ApiFixture fx, Path home) {
        return new Cli(Map.of("GPUCTL_SERVER", "http://127.0.0.1:" + fx.api.port(), "GPUCTL_TOKEN", ApiFixture.OPERATOR,
                "HOME", home.toString()));
    }

    /** The same, with one variable set (or removed, when {@code value} is null). */
    Cli with(String name, String value) {
        Map<String, String> next = new HashMap<>(env);
        if (value == null) {
            next.remove(name);
        } else {
            next.put(name, value);
        }
        return new Cli(next);
    }

    /** A control-api address that refuses connections: a port the kernel just gave out and took back. */
    static String refusingServer() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Gpuctl.execute(args, new PrintWriter(out), new PrintWriter(err), env);
        return new Result(code, out.toString(), err.toString());
    }
}
