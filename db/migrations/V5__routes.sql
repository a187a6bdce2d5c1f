-- Routes: a tenant's LoadBalancer Service (class k8s.gpu) published at a public HTTPS name on the
-- edge. Targets are the Service's pods (by pod UID) and the container port each answers on; the
-- edge reaches a target where its host published that port (workloads.published).

CREATE TABLE routes (
    tenant      text NOT NULL REFERENCES tenants (name),
    service_uid text NOT NULL CHECK (service_uid ~ '^[a-z0-9-]{1,64}$'),
    namespace   text NOT NULL,
    name        text NOT NULL,
    hostname    text NOT NULL UNIQUE,
    port        int  NOT NULL CHECK (port BETWEEN 1 AND 65535),
    targets     jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, service_uid)
);

-- Where the host published each of the pod's ports for the edge: {"8080": "10.0.0.7:41234"}.
ALTER TABLE workloads ADD COLUMN published jsonb NOT NULL DEFAULT '{}';
