package gpufleet.gpuctl.output;

import java.time.Duration;
import java.time.Instant;

/** Durations as kubectl's AGE column writes them: short, with a second unit only while it matters. */
public final class Age {
    private Age() {}

    public static String since(Instant then, Instant now) {
        return of(Duration.between(then, now));
    }

    public static String of(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 120) {
            return s + "s";
        }
        long m = s / 60;
        if (m < 10) {
            return m + "m" + (s % 60 == 0 ? "" : s % 60 + "s");
        }
        long h = m / 60;
        if (h < 3) {
            return m + "m";
        }
        if (h < 8) {
            return h + "h" + (m % 60 == 0 ? "" : m % 60 + "m");
        }
        long days = h / 24;
        if (h < 48) {
            return h + "h";
        }
        if (days < 8) {
            return days + "d" + (h % 24 == 0 ? "" : h % 24 + "h");
        }
        return days < 730 ? days + "d" : days / 365 + "y";
    }
}
