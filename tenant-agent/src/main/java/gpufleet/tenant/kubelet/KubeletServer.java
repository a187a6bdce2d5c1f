package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet API of the virtual node, on the port the node advertises: TLS with the node's
 * serving certificate, client certificates checked against the cluster CA, and the endpoints the
 * API server proxies to for kubectl logs, exec, attach, port-forward and top.
 */
public final class KubeletServer implements AutoCloseable {
    static final String HTTP = "http";
    static final String AGGREGATOR = "aggregator";
    private static final Logger log = LoggerFactory.getLogger(KubeletServer.class);

    /** The serving key and chain, and the CAs whose client certificates name a user (empty: tokens only). */
    public record Tls(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> clientCas) {}

    /** What the request handlers share. */
    record Parts(String nodeName, Instant startedAt, KubeletBackend backend, KubeletAuth auth, BoundPods pods, ExecutorService pool) {}

    private final EventLoopGroup loops;
    private final ExecutorService pool;
    private final Channel server;

    private KubeletServer(EventLoopGroup loops, ExecutorService pool, Channel server) {
        this.loops = loops;
        this.pool = pool;
        this.server = server;
    }

    /** Listens on {@code bind} (port 0: any free port) until closed. */
    public static KubeletServer start(InetSocketAddress bind, String nodeName, Tls tls, KubeletBackend backend, KubernetesClient k8s)
            throws InterruptedException {
        SslContext ssl = sslContext(tls);
        AtomicInteger threads = new AtomicInteger();
        // Backend calls block (logs follow for hours); a cached pool grows with the streams open.
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "kubelet-api-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        Parts parts = new Parts(nodeName, Instant.now(), backend, new KubeletAuth(k8s, nodeName, Clock.systemUTC()),
                new BoundPods(k8s, nodeName), pool);
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc()))
                                    .addLast("writer", new ChannelWriter())
                                    .addLast(HTTP, new HttpServerCodec())
                                    .addLast(AGGREGATOR, new HttpObjectAggregator(64 * 1024))
                                    .addLast("kubelet", new KubeletHttpHandler(parts));
                        }
                    }).bind(bind).sync().channel();
            log.info("kubelet API of node {} listening on {}", nodeName, server.localAddress());
            return new KubeletServer(loops, pool, server);
        } catch (InterruptedException | RuntimeException e) {
            loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            pool.shutdownNow();
            throw e;
        }
    }

    private static SslContext sslContext(Tls tls) {
        try {
            SslContextBuilder b = SslContextBuilder.forServer(tls.key(), tls.chain().toArray(X509Certificate[]::new));
            if (!tls.clientCas().isEmpty()) {
                b.trustManager(tls.clientCas().toArray(X509Certificate[]::new)).clientAuth(ClientAuth.OPTIONAL);
            }
            return b.build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("the kubelet serving certificate cannot be used: " + e.getMessage(), e);
        }
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        pool.shutdownNow();
    }
}
