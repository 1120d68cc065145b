// The parsing limit for bench/run.sh: parse.cpp FILE... reads each page into memory, then times
// parsing all of them with RapidJSON as pix_fdw does (in situ, numbers kept as their text) and
// touching every row's fields. Prints "<rows> <seconds>".
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int
main(int argc, char **argv)
{
	std::vector<std::string> bodies;
	for (int i = 1; i < argc; i++) {
		std::ifstream f(argv[i], std::ios::binary);
		std::stringstream ss;
		ss << f.rdbuf();
		bodies.push_back(ss.str());
	}
	auto t0 = std::chrono::steady_clock::now();
	long long rows = 0, fields = 0;
	for (std::string &b : bodies) {
		rapidjson::Document d;
		d.ParseInsitu<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag>(&b[0]);
		if (d.HasParseError() || !d.IsObject()) {
			std::fprintf(stderr, "bad page\n");
			return 1;
		}
		auto it = d.FindMember("transacoes");
		if (it == d.MemberEnd() || !it->value.IsArray())
			continue;
		for (const auto &r : it->value.GetArray()) {
			rows++;
			if (r.IsObject())
				fields += r.MemberCount();
		}
	}
	double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::printf("%lld %.6f %lld\n", rows, s, fields);
	return 0;
}
