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

// emitDB writes db.go: the scope-bound query types, and the handle that
// hands them out, a runtime.Handle over them. Calling a tenant query needs
// a TenantQueries, and the only ways to get one name a tenant.
func emitDB(pkg string) ([]byte, error) {
	f := jen.NewFile(pkg)
	f.HeaderComment(headerLine)
	f.ImportName(runtimePkg, "runtime")
	f.ImportName(pgxPkg, "pgx")
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

	// The handle itself is the runtime's generic one, over this package's
	// two query types.
	handle := rt("Handle").Types(jen.Op("*").Id(sharedType), jen.Op("*").Id(tenantType))
	comment(f, "DB hands out queries bound to their scope: Shared, Tenant, FromContext,\nSharedTx and TenantTx. It is safe for concurrent use.")
	f.Type().Id("DB").Struct(handle)

	f.Comment("New wraps the runtime, which owns the pool.")
	f.Func().Id("New").Params(jen.Id("rt").Op("*").Add(rt("DB"))).Op("*").Id("DB").Block(
		jen.Return(jen.Op("&").Id("DB").Values(rt("NewHandle").Call(jen.Id("rt"), jen.Id("newShared"), jen.Id("newTenant")))),
	)

	f.Comment("newShared builds the shared queries over db.")
	f.Func().Id("newShared").Params(jen.Id("db").Id("DBTX")).Op("*").Id(sharedType).Block(
		jen.Return(jen.Op("&").Id(sharedType).Values(jen.Dict{jen.Id("db"): jen.Id("db")})),
	)

	f.Comment("newTenant builds the tenant queries of t over db, which is bound to t.")
	f.Func().Id("newTenant").Params(jen.Id("db").Id("DBTX"), jen.Id("t").Add(rt("Tenant"))).Op("*").Id(tenantType).Block(
		jen.Return(jen.Op("&").Id(tenantType).Values(jen.Dict{jen.Id("db"): jen.Id("db"), jen.Id("tenant"): jen.Id("t")})),
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
	// The contract, not the runtime: importing the migration sets must not
	// pull in the code that runs them (goose, database/sql).
	f.ImportName(contractPkg, "contract")
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
	f.Func().Id("Migrations").Params().Qual(contractPkg, "Migrations").Block(
		jen.Return(jen.Qual(contractPkg, "Migrations").Values(jen.Dict{
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
