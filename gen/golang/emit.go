package golang

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

const (
	runtimePkg  = "github.com/tenantgen/tenantgen/runtime"
	contractPkg = "github.com/tenantgen/tenantgen/runtime/contract"
	pgxPkg      = "github.com/jackc/pgx/v5"
	headerLine  = contract.GoHeader
)

// emitDB writes db.go: the scope-bound query types and the handle that
// hands them out. Calling a tenant query needs a TenantQueries, and the only
// ways to get one name a tenant.
func emitDB(pkg string) ([]byte, error) {
	f := jen.NewFile(pkg)
	f.HeaderComment(headerLine)
	f.ImportName(runtimePkg, "runtime")
	f.ImportName(pgxPkg, "pgx")
	ctx := jen.Id("ctx").Qual("context", "Context")
	rt := func(name string) *jen.Statement { return jen.Qual(runtimePkg, name) }

	versionCheck(f, contract.Version)

	f.Comment("DBTX is what queries run on: the runtime binds it to a scope.")
	f.Type().Id("DBTX").Op("=").Add(rt("DBTX"))

	f.Comment("SharedQueries runs the queries that touch only shared objects, which live in public.")
	f.Type().Id(sharedType).Struct(jen.Id("db").Id("DBTX"))

	f.Comment("TenantQueries runs the queries that touch tenant objects, in the schema of one tenant.")
	f.Type().Id(tenantType).Struct(
		jen.Id("db").Id("DBTX"),
		jen.Id("tenant").Add(rt("Tenant")),
	)

	f.Comment("Tenant is the tenant q runs in.")
	f.Func().Params(jen.Id("q").Op("*").Id(tenantType)).Id("Tenant").Params().Add(rt("Tenant")).Block(
		jen.Return(jen.Id("q").Dot("tenant")),
	)

	f.Comment("WithTx returns q running inside tx, which must have been begun on the same database.")
	f.Func().Params(jen.Id("q").Op("*").Id(tenantType)).Id("WithTx").Params(jen.Id("tx").Qual(pgxPkg, "Tx")).Op("*").Id(tenantType).Block(
		jen.Return(jen.Op("&").Id(tenantType).Values(jen.Dict{
			jen.Id("db"):     rt("BindTenant").Call(jen.Id("tx"), jen.Id("q").Dot("tenant")),
			jen.Id("tenant"): jen.Id("q").Dot("tenant"),
		})),
	)

	f.Comment("WithTx returns q running inside tx.")
	f.Func().Params(jen.Id("q").Op("*").Id(sharedType)).Id("WithTx").Params(jen.Id("tx").Qual(pgxPkg, "Tx")).Op("*").Id(sharedType).Block(
		jen.Return(jen.Op("&").Id(sharedType).Values(jen.Dict{jen.Id("db"): jen.Id("tx")})),
	)

	f.Comment("DB hands out queries bound to their scope. It is safe for concurrent use.")
	f.Type().Id("DB").Struct(jen.Id("rt").Op("*").Add(rt("DB")))

	f.Comment("New wraps the runtime, which owns the pool.")
	f.Func().Id("New").Params(jen.Id("rt").Op("*").Add(rt("DB"))).Op("*").Id("DB").Block(
		jen.Return(jen.Op("&").Id("DB").Values(jen.Dict{jen.Id("rt"): jen.Id("rt")})),
	)

	f.Comment("Runtime returns the runtime db was built on.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("Runtime").Params().Op("*").Add(rt("DB")).Block(
		jen.Return(jen.Id("db").Dot("rt")),
	)

	f.Comment("Shared returns the shared queries.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("Shared").Params().Op("*").Id(sharedType).Block(
		jen.Return(jen.Op("&").Id(sharedType).Values(jen.Dict{jen.Id("db"): jen.Id("db").Dot("rt").Dot("Shared").Call()})),
	)

	f.Comment("Tenant returns the tenant queries of t.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("Tenant").Params(jen.Id("t").Add(rt("Tenant"))).Op("*").Id(tenantType).Block(
		jen.Return(jen.Op("&").Id(tenantType).Values(jen.Dict{
			jen.Id("db"):     jen.Id("db").Dot("rt").Dot("Tenant").Call(jen.Id("t")),
			jen.Id("tenant"): jen.Id("t"),
		})),
	)

	comment(f, "FromContext returns the tenant queries of the tenant ctx carries, as set by the\nruntime's HTTP middleware or runtime.WithTenant.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("FromContext").Params(ctx).Params(jen.Op("*").Id(tenantType), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Id("ok")).Op(":=").Add(rt("TenantFromContext")).Call(jen.Id("ctx")),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(jen.Nil(), rt("ErrNoTenant"))),
		jen.Return(jen.Id("db").Dot("Tenant").Call(jen.Id("t")), jen.Nil()),
	)

	comment(f, "SharedTx runs fn in a transaction. It commits when fn returns nil and rolls\nback otherwise, also when fn panics.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("SharedTx").Params(
		ctx.Clone(), jen.Id("fn").Func().Params(jen.Op("*").Id(sharedType)).Error(),
	).Error().Block(
		jen.Return(jen.Id("db").Dot("rt").Dot("SharedTx").Call(jen.Id("ctx"), jen.Func().Params(jen.Id("tx").Id("DBTX")).Error().Block(
			jen.Return(jen.Id("fn").Call(jen.Op("&").Id(sharedType).Values(jen.Dict{jen.Id("db"): jen.Id("tx")}))),
		))),
	)

	f.Comment("TenantTx runs fn in a transaction in t's schema; see SharedTx.")
	f.Func().Params(jen.Id("db").Op("*").Id("DB")).Id("TenantTx").Params(
		ctx.Clone(), jen.Id("t").Add(rt("Tenant")), jen.Id("fn").Func().Params(jen.Op("*").Id(tenantType)).Error(),
	).Error().Block(
		jen.Return(jen.Id("db").Dot("rt").Dot("TenantTx").Call(jen.Id("ctx"), jen.Id("t"), jen.Func().Params(jen.Id("tx").Id("DBTX")).Error().Block(
			jen.Return(jen.Id("fn").Call(jen.Op("&").Id(tenantType).Values(jen.Dict{jen.Id("db"): jen.Id("tx"), jen.Id("tenant"): jen.Id("t")}))),
		))),
	)
	return render(f)
}

// versionCheck adds the assertion that fails to compile when the runtime
// cannot serve code generated for version (see contract.EnforceVersion).
func versionCheck(f *jen.File, version int) {
	f.ImportName(contractPkg, "contract")
	enforce := func(x *jen.Statement) *jen.Statement {
		return jen.Id("_").Op("=").Qual(contractPkg, "EnforceVersion").Call(x)
	}
	comment(f, "The build fails here when this code and the tenantgen runtime disagree.")
	f.Const().Defs(
		enforce(jen.Lit(version).Op("-").Qual(contractPkg, "MinVersion")).Comment("the runtime no longer serves this code: regenerate it"),
		enforce(jen.Qual(contractPkg, "Version").Op("-").Lit(version)).Comment("the runtime is older than this code: upgrade it"),
	)
}

// emitMigrations writes migrations.go, which embeds both migration sets.
func emitMigrations(pkg string, shared, tenant bool) ([]byte, error) {
	f := jen.NewFile(pkg)
	f.HeaderComment(headerLine)
	f.ImportName(runtimePkg, "runtime")
	sub := func(dir string, ok bool) jen.Code {
		if !ok {
			return jen.Nil()
		}
		return jen.Id("migrationsSub").Call(jen.Lit(dir))
	}
	if shared || tenant {
		f.Anon("embed")
		// Both sets live below one directory, embedded whole.
		f.Comment("//go:embed " + path.Dir(contract.SharedDir))
		f.Var().Id("migrationsFS").Qual("embed", "FS")
		f.Func().Id("migrationsSub").Params(jen.Id("dir").String()).Qual("io/fs", "FS").Block(
			jen.List(jen.Id("s"), jen.Err()).Op(":=").Qual("io/fs", "Sub").Call(jen.Id("migrationsFS"), jen.Id("dir")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Panic(jen.Err())),
			jen.Return(jen.Id("s")),
		)
	}
	comment(f, "Migrations returns the goose migration sets generated from the schema files:\nshared for public, tenant for every tenant schema.")
	f.Func().Id("Migrations").Params().Qual(runtimePkg, "Migrations").Block(
		jen.Return(jen.Qual(runtimePkg, "Migrations").Values(jen.Dict{
			jen.Id("Shared"): sub(contract.SharedDir, shared),
			jen.Id("Tenant"): sub(contract.TenantDir, tenant),
		})),
	)
	return render(f)
}

func render(f *jen.File) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Render(&b); err != nil {
		return nil, fmt.Errorf("rendering generated code: %w", err)
	}
	return groupImports(b.Bytes())
}

// comment writes a multi-line comment as line comments, as gofmt'd code has them.
func comment(f *jen.File, text string) {
	for _, line := range strings.Split(text, "\n") {
		f.Comment(line)
	}
}
