import argparse
import sqlite3
import csv

def main():
    parser = argparse.ArgumentParser(description='Run a SQL query on a SQLite database.')
    parser.add_argument('input_file', type=str, help='Path to the input SQL file.')
    parser.add_argument('output_file', type=str, help='Path to the output CSV file.')
    parser.add_argument('--header', action='store_true', help='Include header in the output CSV.')
    args = parser.parse_args()

    # Build the database
    with sqlite3.connect('inventory.db') as conn:
        with open(args.input_file, 'r') as f:
            conn.executescript(f.read())

    # Write the query to query.sql
    with open('query.sql', 'w') as f:
        f.write('''
        SELECT p.name, SUM(s.quantity) AS total
        FROM products p JOIN stock s ON s.product_id = p.id
        GROUP BY p.id
        ORDER BY total DESC, p.name;
        ''')

    # Run the query and save the result
    with sqlite3.connect('inventory.db') as conn:
        with open(args.output_file, 'w', newline='') as f:
            if args.header:
                writer = csv.writer(f)
                writer.writerow(['name', 'total'])
            with open('query.sql', 'r') as f:
                query = f.read()
            cursor = conn.execute(query)
            for row in cursor:
                writer.writerow(row)

if __name__ == '__main__':
    main()
