// Included first by every src/bank header. The bank layer is plain C++17: the Makefile
// compiles src/bank without PostgreSQL's include path, so a PostgreSQL header there fails to
// build, and this check catches one reaching a bank file through another route.
#pragma once
#if defined(POSTGRES_H) && defined(PIX_BANK_ONLY)
#error "src/bank must not include PostgreSQL headers"
#endif
