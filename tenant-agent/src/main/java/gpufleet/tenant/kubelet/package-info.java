/**
 * The kubelet API of the virtual node, so that {@code kubectl logs/exec/attach/port-forward/top}
 * work on pods there as on any node. The API server reaches it at the node's address and port
 * (GPUFLEET_KUBELET_PORT, 10250); {@link gpufleet.tenant.kubelet.KubeletServer} serves, a
 * {@link gpufleet.tenant.kubelet.KubeletBackend} provides (the {@code relay} package relays to the
 * control-api).
 *
 * <p>Endpoints: {@code /containerLogs/{ns}/{pod}/{container}} (chunked, paced by the client);
 * {@code /exec} and {@code /attach} over SPDY/3.1 (remotecommand v4, v3, v2) or WebSocket
 * (v5/v4 channel protocols, base64 variants); {@code /portForward/{ns}/{pod}} over SPDY
 * (portforward.k8s.io) or WebSocket; {@code /stats/summary}, {@code /metrics/resource},
 * {@code /pods}; {@code /healthz} without credentials.
 *
 * <p>Callers are authenticated and authorized as the kubelet does it: a client certificate from
 * the cluster CA, or a bearer token checked with a TokenReview; then a SubjectAccessReview on
 * {@code nodes/proxy} (or {@code stats}, {@code metrics}, {@code log} by path) for this node.
 * The agent's ServiceAccount therefore needs, beyond its other rights: {@code create} on
 * {@code tokenreviews} (authentication.k8s.io) and {@code subjectaccessreviews}
 * (authorization.k8s.io); for its serving certificate {@code create, get} on
 * {@code certificatesigningrequests}, {@code update} on {@code certificatesigningrequests/approval}
 * and {@code approve} on {@code signers} named {@code kubernetes.io/kubelet-serving}
 * (certificates.k8s.io); without the approval rights an administrator approves the request.
 */
package gpufleet.tenant.kubelet;
