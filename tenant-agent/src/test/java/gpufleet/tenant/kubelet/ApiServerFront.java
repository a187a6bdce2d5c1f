package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The part of an API server that kubectl's pod subresources go through, so that a real kubectl
 * can be pointed at a kubelet here: discovery, GET of a pod (read from the mock API server), and
 * logs/exec/attach/portforward passed through to the node's kubelet API byte for byte, with the
 * API server's client certificate, upgrades (SPDY, WebSocket) included, as the API server proxies
 * them. Plain HTTP on loopback; kubectl is given it with --server.
 */
final class ApiServerFront implements AutoCloseable {
    private static final Pattern POD = Pattern.compile("^/api/v1/namespaces/([^/]+)/pods/([^/?]+)(/(exec|attach|log|portforward))?(\\?(.*))?$");
    private static final String API_V1 = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
            + "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"get\",\"list\"],\"shortNames\":[\"po\"]},"
            + "{\"name\":\"pods/exec\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodExecOptions\",\"verbs\":[\"create\",\"get\"]},"
            + "{\"name\":\"pods/log\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"get\"]},"
            + "{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
            + "{\"name\":\"pods/portforward\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodPortForwardOptions\",\"verbs\":[\"create\",\"get\"]}]}";

    private final ServerSocket listener;
    private final KubernetesClient client;
    private final SSLContext apiServerIdentity;
    private final int kubeletPort;

    ApiServerFront(KubernetesClient client, SSLContext apiServerIdentity, int kubeletPort) throws IOException {
        this.client = client;
        this.apiServerIdentity = apiServerIdentity;
        this.kubeletPort = kubeletPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    Thread t = new Thread(() -> serve(s), "api-front");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }, "api-front-accept");
        accept.setDaemon(true);
        accept.start();
    }

    String server() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            String head = head(in);
            String[] request = head.substring(0, head.indexOf("\r\n")).split(" ");
            String path = request[1];
            String bare = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
            switch (bare) {
                case "/version" -> json(out, 200, "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\"}");
                case "/api" -> json(out, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}");
                case "/apis" -> json(out, 200, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[]}");
                case "/api/v1" -> json(out, 200, API_V1);
                default -> pod(path, request[0], head, in, out);
            }
        } catch (IOException e) {
            // kubectl went away.
        }
    }

    private void pod(String path, String method, String head, InputStream in, OutputStream out) throws IOException {
        Matcher m = POD.matcher(path);
        if (!m.matches()) {
            json(out, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}");
            return;
        }
        String ns = m.group(1);
        String name = m.group(2);
        String query = m.group(6) == null ? "" : m.group(6);
        if (m.group(4) == null) {
            Pod pod = client.pods().inNamespace(ns).withName(name).get();
            json(out, pod == null ? 404 : 200, pod == null ? "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}" : Serialization.asJson(pod));
            return;
        }
        String container = "main";
        for (String p : query.split("&")) {
            if (p.startsWith("container=")) {
                container = p.substring(10);
            }
        }
        String target = switch (m.group(4)) {
            case "exec" -> "/exec/" + ns + "/" + name + "/" + container;
            case "attach" -> "/attach/" + ns + "/" + name + "/" + container;
            case "log" -> "/containerLogs/" + ns + "/" + name + "/" + container;
            default -> "/portForward/" + ns + "/" + name;
        };
        String headers = head.substring(head.indexOf("\r\n"), head.length() - 2);
        if (!headers.toLowerCase(java.util.Locale.ROOT).contains("\r\nupgrade:")) {
            headers += "Connection: close\r\n"; // One request per connection: its end is the response's end.
        }
        try (Socket kubelet = apiServerIdentity.getSocketFactory().createSocket("127.0.0.1", kubeletPort)) {
            kubelet.getOutputStream().write((method + " " + target + "?" + query + " HTTP/1.1" + headers + "\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            kubelet.getOutputStream().flush();
            Thread up = new Thread(() -> {
                try {
                    in.transferTo(kubelet.getOutputStream());
                    kubelet.getOutputStream().flush();
                } catch (IOException e) {
                    // Either side closed.
                }
            }, "api-front-up");
            up.setDaemon(true);
            up.start();
            kubelet.getInputStream().transferTo(out);
        }
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (!b.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("closed before the request head ended");
            }
            b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static void json(OutputStream out, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
