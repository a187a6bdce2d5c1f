package gpufleet.gpuctl.output;

/** A number shown with its unit ("71%", "245W") that still sorts as a number. */
public record Measure(long value, String text) implements Comparable<Measure> {
    public static Measure of(long value, String unit) {
        return new Measure(value, value + unit);
    }

    @Override
    public int compareTo(Measure o) {
        return Long.compare(value, o.value);
    }

    @Override
    public String toString() {
        return text;
    }
}
