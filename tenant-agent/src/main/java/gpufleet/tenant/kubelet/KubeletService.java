package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the kubelet API up beside the agent's loops: once the provider is known, a background
 * thread obtains the serving certificate (which may wait for an administrator's approval) and
 * starts the server; the agent does not wait for it.
 */
public final class KubeletService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubeletService.class);

    private final KubeletConfig config;
    private final KubernetesClient k8s;
    private final String nodeName;
    private final String nodeAddress;
    private final int port;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile Thread starter;
    private volatile KubeletServer server;

    public KubeletService(KubeletConfig config, KubernetesClient k8s, String nodeName, String nodeAddress, int port) {
        this.config = config;
        this.k8s = k8s;
        this.nodeName = nodeName;
        this.nodeAddress = nodeAddress;
        this.port = port;
    }

    /** Starts serving with {@code backend}; later calls do nothing. */
    public void start(KubeletBackend backend) {
        if (config.tls() == KubeletConfig.Tls.OFF || !started.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> serve(backend), "kubelet-api-start");
        t.setDaemon(true);
        starter = t;
        t.start();
    }

    private void serve(KubeletBackend backend) {
        try {
            ServingCertificate.Material cert = config.tls() == KubeletConfig.Tls.SELF_SIGNED
                    ? ServingCertificate.selfSigned(nodeName, nodeAddress)
                    : ServingCertificate.fromCluster(k8s, nodeName, nodeAddress, config.csrPoll(), config.selfApprove());
            server = KubeletServer.start(new InetSocketAddress(config.bindAddress(), port), nodeName,
                    new KubeletServer.Tls(cert.key(), cert.chain(), clientCas()), backend, k8s);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // Also what Netty's bind throws unchecked: the port taken, an address not on this machine.
            log.error("the kubelet API of node {} is not served (kubectl logs/exec/port-forward/top will fail): {}", nodeName, e.getMessage());
        }
    }

    /** The CAs for client certificates: the configured file, else the cluster CA of the agent's Kubernetes client. */
    private List<X509Certificate> clientCas() {
        try {
            byte[] pem = null;
            if (config.clientCaFile() != null) {
                pem = Files.readAllBytes(config.clientCaFile());
            } else if (k8s.getConfiguration().getCaCertData() != null) {
                pem = Base64.getDecoder().decode(k8s.getConfiguration().getCaCertData().trim());
            } else if (k8s.getConfiguration().getCaCertFile() != null) {
                pem = Files.readAllBytes(Path.of(k8s.getConfiguration().getCaCertFile()));
            }
            if (pem != null) {
                return ServingCertificate.parseChain(pem);
            }
        } catch (IOException | RuntimeException e) {
            log.warn("kubelet API: the cluster CA cannot be read ({}); callers must bring bearer tokens", e.getMessage());
            return List.of();
        }
        log.warn("kubelet API: no cluster CA known (set GPUFLEET_KUBELET_CLIENT_CA_FILE); callers must bring bearer tokens");
        return List.of();
    }

    /** The port served on, or 0 while not serving. */
    public int port() {
        KubeletServer s = server;
        return s == null ? 0 : s.port();
    }

    @Override
    public void close() {
        Thread t = starter;
        if (t != null) {
            t.interrupt();
        }
        KubeletServer s = server;
        if (s != null) {
            s.close();
        }
    }
}
