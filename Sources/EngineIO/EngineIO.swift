// EngineIO
