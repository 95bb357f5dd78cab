package clover;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Serves the MongoDB wire protocol on a TCP address from mongo-java-server's in-memory backend:
 * clover's fallback test server where FerretDB cannot carry the load (see README.md).
 *
 * <p>Usage: {@code java -jar clover-mongo-java-server.jar [-listen HOST:PORT] [-exit-on-stdin-eof]};
 * port 0 picks a free port. Once the listener is bound it prints one line to stdout,
 * {@code ready mongodb://HOST:PORT/}, so a caller that asked for port 0 learns the port without
 * racing another process for it. The data lives in memory and is gone when the process stops.
 */
public final class MongoJavaServer {
  private MongoJavaServer() {}

  /** MongoDB 4.4, wire version 9 (the MongoDB wire protocol's table of versions). */
  private static final MongoVersion CLAIMED_VERSION =
      new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
          return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
          return 9;
        }
      };

  public static void main(String[] args) throws IOException {
    String listen = "127.0.0.1:27017";
    boolean stdinEof = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-listen" -> {
          if (i + 1 >= args.length) usage("-listen needs HOST:PORT");
          listen = args[++i];
        }
        case "-exit-on-stdin-eof" -> stdinEof = true;
        default -> usage("unknown argument " + args[i]);
      }
    }
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) usage("-listen wants HOST:PORT, got " + listen);
    String host = listen.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      usage("-listen port is not a number: " + listen);
      return;
    }

    // The Node driver 7 refuses servers below wire version 9 (MongoDB 4.4), and mongo-java-server's
    // newest ServerVersion (MONGO_5_0) still answers hello with wire version 8. So it claims 4.4,
    // the least the driver takes: the claim only opens the handshake, it adds no feature (the
    // driver then sends the OP_MSG commands it sends any 4.4 server, which the backend already speaks).
    MemoryBackend backend = new MemoryBackend();
    backend.version(CLAIMED_VERSION);
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "shutdown"));
    InetSocketAddress bound = server.getLocalAddress();
    System.out.println("ready mongodb://" + host + ":" + bound.getPort() + "/");
    System.out.flush();

    if (stdinEof) {
      // A test runner that dies without cleaning up closes our stdin: take the server down with it.
      InputStream in = System.in;
      byte[] buf = new byte[256];
      while (in.read(buf) >= 0) {
        // discard
      }
      System.exit(0);
    }
  }

  private static void usage(String message) {
    System.err.println("clover-mongo-java-server: " + message);
    System.err.println("usage: java -jar clover-mongo-java-server.jar [-listen HOST:PORT] [-exit-on-stdin-eof]");
    System.exit(2);
  }
}
