package airbricks.metastore;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.apache.hadoop.hive.common.LogUtils;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.thrift.TProcessor;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransportFactory;

/**
 * The workspace's shared Hive metastore service, listening on one address only (loopback by default).
 *
 * <p>Hive 2.3's {@code HiveMetaStore.main} (the service in pyspark's jars) opens its Thrift server on every
 * interface and has no setting for the address, and the service has no authentication: anyone who reaches the
 * port can alter every table definition. This launcher serves the same Thrift handler Hive's service builds
 * (a {@code HMSHandler} behind the retrying proxy, the processor and transport Hive picks for an unsecured
 * service, the same thread-pool limits and message-size bound from {@code hive-site.xml}), on a server socket
 * bound to the address given. The compactor and metrics threads Hive's {@code main} may start are off in the
 * workspace's configuration and are not started. SASL/Kerberos and the framed or compact transports are
 * refused rather than silently served differently.
 *
 * <p>Usage: {@code LoopbackMetastore <port> [<bind address>]}.
 */
public final class LoopbackMetastore {
    private LoopbackMetastore() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: LoopbackMetastore <port> [<bind address, default 127.0.0.1>]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        HiveConf.setLoadMetastoreConfig(true);
        HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
        if (System.getProperty("log4j.configurationFile") == null) {
            try {
                LogUtils.initHiveLog4j();
            } catch (LogUtils.LogInitializationException e) {
                System.err.println("Hive logging not initialised: " + e.getMessage());
            }
        }
        for (HiveConf.ConfVars refused : new HiveConf.ConfVars[] {
                HiveConf.ConfVars.METASTORE_USE_THRIFT_SASL,
                HiveConf.ConfVars.METASTORE_USE_THRIFT_FRAMED_TRANSPORT,
                HiveConf.ConfVars.METASTORE_USE_THRIFT_COMPACT_PROTOCOL}) {
            if (conf.getBoolVar(refused)) {
                throw new IllegalArgumentException(refused.varname + " is not supported by the local workspace's metastore");
            }
        }
        serve(conf, new InetSocketAddress(InetAddress.getByName(host), port));
    }

    static void serve(HiveConf conf, InetSocketAddress address) throws Throwable {
        markRemote();
        long maxMessageSize = conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMAXMESSAGESIZE);
        int minWorkers = conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMINTHREADS);
        int maxWorkers = conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMAXTHREADS);

        HiveMetaStore.HMSHandler base = new HiveMetaStore.HMSHandler("new db based metaserver", conf, false);
        IHMSHandler handler = HiveMetaStore.newRetryingHMSHandler(base, conf);
        TProcessor processor;
        TTransportFactory transports;
        if (conf.getBoolVar(HiveConf.ConfVars.METASTORE_EXECUTE_SET_UGI)) {
            // Clients send their user (set_ugi) first: the transport carries it, the processor acts as it.
            transports = new TUGIContainingTransport.Factory();
            processor = new TUGIBasedProcessor<IHMSHandler>(handler);
        } else {
            transports = new TTransportFactory();
            processor = new TSetIpAddressProcessor<IHMSHandler>(handler);
        }
        TServerSocket socket = new TServerSocket(address);
        TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
                .processor(processor)
                .transportFactory(transports)
                .protocolFactory(new TBinaryProtocol.Factory())
                .inputProtocolFactory(new TBinaryProtocol.Factory(true, true, maxMessageSize, maxMessageSize))
                .minWorkerThreads(minWorkers)
                .maxWorkerThreads(maxWorkers);
        TServer server = new TThreadPoolServer(serverArgs);
        HiveMetaStore.HMSHandler.LOG.info("Started the metastore on " + address + " (workers "
                + minWorkers + ".." + maxWorkers + ")");
        server.serve();
    }

    /** What Hive's own start sets: the handler then reads clients' addresses as a remote service does. */
    private static void markRemote() {
        try {
            Field remote = HiveMetaStore.class.getDeclaredField("isMetaStoreRemote");
            remote.setAccessible(true);
            remote.setBoolean(null, true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            HiveMetaStore.HMSHandler.LOG.warn("could not mark the metastore as a remote service: " + e);
        }
    }
}
