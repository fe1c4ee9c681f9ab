// The `dynomite -h` text users of Netflix Dynomite know (fixtures/reference/netflix-behaviour.md
// section 2, verbatim), and ours: the same but for the -c default (see docs/config.md).
export const NETFLIX_HELP = `Usage: dynomite [-?hVdDt] [-v verbosity level] [-o output file]
                  [-c conf file] [-p pid file] [-m mbuf size (deprecated)]
                  [-M max alloc messages (deprecated)]

Options:
  -h, --help             : this help
  -V, --version          : show version and exit
  -t, --test-conf        : test configuration for syntax errors and exit
  -d, --daemonize        : run as a daemon
  -D, --describe-stats   : print stats description and exit
  -v, --verbosity=N            : set logging level (default: 5, min: 0, max: 11)
  -o, --output=S               : set logging file (default: stderr)
  -c, --conf-file=S            : set configuration file (default: /usr/local/etc/dynomite.yml)
  -p, --pid-file=S             : set pid file (default: off)
  -m, --mbuf-size=N            : set size of mbuf chunk in bytes (default: 0 bytes)
`;

export const OUR_HELP = NETFLIX_HELP.replace('/usr/local/etc/dynomite.yml', 'conf/dynomite.yml');
