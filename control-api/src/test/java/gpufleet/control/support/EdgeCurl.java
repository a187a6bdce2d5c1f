package gpufleet.control.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** {@code curl -k https://NAME:PORT/} with NAME resolved to loopback, as a tenant would reach a route. */
public final class EdgeCurl {
    private EdgeCurl() {}

    /** Returns "status body" ("000 " when nothing answered). */
    public static String get(String name, int port) {
        try {
            Process p = new ProcessBuilder("curl", "-sk", "--max-time", "5", "--resolve", name + ":" + port + ":127.0.0.1",
                    "-w", "\n%{http_code}", "https://" + name + ":" + port + "/").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            int cut = out.lastIndexOf('\n');
            return (out.substring(cut + 1).trim() + " " + out.substring(0, cut)).trim();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
