package node

import "go.uber.org/zap"

// maxVerbosity is memcached's MAX_VERBOSITY_LEVEL as far as shoal has
// levels: 1 logs connection errors, 2 also every command line.
const maxVerbosity = 2

// setVerbosity serves `verbosity N`: the reported level, and the level of
// the log when the server was given one to move.
func (s *Server) setVerbosity(level uint32) {
	v := min(level, maxVerbosity)
	s.verbosity.Store(int32(v))
	if s.cfg.LogLevel == nil {
		return
	}
	if v > 0 {
		s.cfg.LogLevel.SetLevel(zap.DebugLevel)
	} else {
		s.cfg.LogLevel.SetLevel(zap.InfoLevel)
	}
}
