package gpufleet.bench;

/** Placeholder until the inventory benchmark lands in this session. */
final class InventoryBench {
    private InventoryBench() {}

    static void main(String[] args) {
        throw new IllegalStateException("inventory benchmark is being written");
    }
}
