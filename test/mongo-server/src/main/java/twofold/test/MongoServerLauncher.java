package twofold.test;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The MongoDB-wire server of twofold's tests: mongo-java-server's memory backend on
 * 127.0.0.1 and the port given as the only argument. Like MongoDB, it applies each
 * single-document update atomically, which the stores' contract suites rely on.
 * Stops on SIGTERM or SIGINT.
 */
public final class MongoServerLauncher {
    /**
     * mongo-java-server 1.47.0 reports wire version 8 at most, and the MongoDB Node driver 7
     * (under mongoose 9) refuses servers below wire version 9, so it reports MongoDB 4.4's.
     */
    private static final MongoVersion MONGO_4_4 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 1) {
            System.err.println("usage: MongoServerLauncher PORT");
            System.exit(2);
        }
        MongoServer server = new MongoServer(new MemoryBackend().version(MONGO_4_4));
        server.bind("127.0.0.1", Integer.parseInt(args[0]));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }));
        System.out.println("listening on 127.0.0.1:" + args[0]);
        stopped.await();
    }
}
